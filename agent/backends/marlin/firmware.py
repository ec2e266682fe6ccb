"""What the firmware can do: the profile's capabilities, corrected by what M115 reports.

A profile describes a printer model as it ships; the board on the bench may run a
build with a feature switched on or off. Where M115 reports a `Cap:` the agent
believes the firmware; where it is silent, the profile.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from agent.backends.marlin.responses import Capability
from firmware_profiles import ObjectCancel, Profile

# Cap: name -> FirmwareFeatures field
_CAPABILITIES = {
    "AUTOREPORT_TEMP": "autoreport",
    "BUILD_PERCENT": "m73",
    "EMERGENCY_PARSER": "emergency_parser",
    "PROMPT_SUPPORT": "prompts",
}


@dataclass(frozen=True)
class FirmwareFeatures:
    name: str = "unknown firmware"
    autoreport: bool = False  # M155 temperature auto-report
    m73: bool = False  # M73 progress on the printer's display
    m486: bool = False  # M486 cancels objects on the printer
    emergency_parser: bool = False  # M108 is read at once, even during a heating wait
    prompts: bool = False  # //action:prompt_* and M876

    @classmethod
    def from_profile(cls, profile: Profile) -> FirmwareFeatures:
        caps = profile.capabilities
        return cls(
            name=profile.flavour.value,
            autoreport=caps.autoreport_temperature,
            m73=caps.m73_progress,
            m486=caps.object_cancel is ObjectCancel.M486,
        )

    def with_capability(self, capability: Capability) -> FirmwareFeatures:
        field = _CAPABILITIES.get(capability.name)
        if field is None:
            return self
        changes: dict[str, bool] = {field: capability.enabled}
        return replace(self, **changes)  # type: ignore[arg-type]

    def describe(self) -> str:
        shown = [self.name]
        shown.append("temperature auto-report" if self.autoreport else "M105 polling")
        if self.m73:
            shown.append("M73 progress")
        if self.m486:
            shown.append("M486 object cancel")
        return ", ".join(shown)

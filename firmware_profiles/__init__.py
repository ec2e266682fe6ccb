"""What each printer and firmware is and accepts: profiles, their loader and templates.

    from firmware_profiles import load_profile, render_template, template_values

    profile = load_profile("generic-220")
    start = render_template(profile.gcode.start, template_values(profile, "PLA"))

Light on purpose (stdlib tomllib and pydantic only): the agent on a Raspberry Pi imports it.
"""

from firmware_profiles.errors import ProfileError, UnknownProfileError
from firmware_profiles.loader import (
    PACKAGED_DIR,
    ProfileLibrary,
    clear_profile_cache,
    list_profiles,
    load_profile,
    load_profile_file,
    load_profiles_dir,
)
from firmware_profiles.model import (
    AxisValues,
    Capabilities,
    Flavour,
    Limits,
    Machine,
    Material,
    ObjectCancel,
    Profile,
    SafetyPolicy,
    SerialSettings,
    Templates,
    Transport,
)
from firmware_profiles.templates import (
    PLACEHOLDERS,
    TemplateError,
    check_template,
    render_template,
    template_values,
)

__all__ = [
    "PACKAGED_DIR",
    "PLACEHOLDERS",
    "AxisValues",
    "Capabilities",
    "Flavour",
    "Limits",
    "Machine",
    "Material",
    "ObjectCancel",
    "Profile",
    "ProfileError",
    "ProfileLibrary",
    "SafetyPolicy",
    "SerialSettings",
    "TemplateError",
    "Templates",
    "Transport",
    "UnknownProfileError",
    "check_template",
    "clear_profile_cache",
    "list_profiles",
    "load_profile",
    "load_profile_file",
    "load_profiles_dir",
    "render_template",
    "template_values",
]

"""One pass over a program: every line read once, state, statistics and checks together.

Nine lines in ten of a sliced program are `G1 X.. Y.. E..` in absolute mode on a homed
printer. `_run_lines` reads those itself, keeping the machine's position and the rest of
the hot state in local variables; it is one long function on purpose, since every
attribute lookup or call per line costs measurable time on a Raspberry Pi. Everything
else goes through `dispatch`: the careful lexer, then the command's handler, which works
on `self.state`. Before a handler runs the locals are written back to the state, and read
again after it; `apply_move` is the careful path's twin of the fast path's move logic, and
tests run programs through both to keep them equal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from math import inf, nan
from typing import TYPE_CHECKING

from firmware_profiles.gcode import bounds, comments, policy, temperatures
from firmware_profiles.gcode.dialects import Dialect
from firmware_profiles.gcode.heat_clock import HeatClock
from firmware_profiles.gcode.lexer import Command, LexError, parse_line, short
from firmware_profiles.gcode.machine_state import MachineState
from firmware_profiles.gcode.motion_limits import MotionLimits
from firmware_profiles.gcode.planner import Planner
from firmware_profiles.gcode.safety import Code, SafetyRules, Severity, ViolationLog
from firmware_profiles.gcode.source import ProgramFile, program_pieces
from firmware_profiles.gcode.stats import LAYER_MARKERS, LayerCounter, TemperatureCommand

if TYPE_CHECKING:
    from firmware_profiles.gcode.coordinates import SavedState


Handler = Callable[["Interpreter", Command, int], None]


class _Unusual(Exception):
    """A G0/G1 line the fast path leaves to the careful one."""


class Interpreter:
    """Runs a program against a dialect, optional safety rules and an optional planner."""

    def __init__(
        self,
        dialect: Dialect,
        rules: SafetyRules | None,
        planner: Planner | None,
        table: dict[str, Handler],
        heat_clock: HeatClock | None = None,
        fast_path: bool = True,
    ) -> None:
        self.dialect = dialect
        self.rules = rules
        self.planner = planner
        self.table = table
        self.heat_clock = heat_clock
        self.fast_path = fast_path
        self.state = MachineState()
        self.log = ViolationLog()
        self.layers = LayerCounter()
        self.records: list[float] = []  # recorded moves, `planner.Record` fields in a row
        self.temperatures: list[TemperatureCommand] = []
        self.objects: list[str] = []
        self.object_ids: dict[int, str] = {}
        self.dwell_seconds = 0.0
        self.start_sequence_filament_mm = 0.0  # filament used before the first layer marker
        self.lines = 0
        self.once: set[str] = set()  # findings reported once per program
        self.saved_positions: dict[int, tuple[float, float, float]] = {}  # G60
        self.saved_states: dict[str, SavedState] = {}  # SAVE_GCODE_STATE
        self.ready: bool | None = None  # temperatures.ready(), cached
        self.layer_z = nan
        self.layer_e = 0.0
        self._worst: dict[tuple[str, int], float] = {}  # how far out each side was reported
        self._worst_line: dict[tuple[str, int], int] = {}  # and on which line
        self.outside_line = 0  # the last line reported for leaving the bed
        if rules is not None:
            self.travel = rules.travel_bounds()
            # Until the first layer marker the start sequence may extrude in the travel
            # margin (purge and intro lines); the print itself must stay on the bed.
            self.extrusion_margin = rules.travel_margin_mm
            self.extrusion_bounds = _widened(rules.bed, self.extrusion_margin)
            self._max_extrude_only = rules.max_extrude_only_mm
            self._feedrate_warning = max(
                rules.limits.max_feedrate_mm_s.x, rules.limits.max_feedrate_mm_s.y
            )
        else:
            self.travel = (-inf, inf, -inf, inf, -inf, inf)
            self.extrusion_margin = 0.0
            self.extrusion_bounds = (-inf, -inf, inf, inf)
            self._max_extrude_only = inf
            self._feedrate_warning = 1e12  # finite: an infinite F goes the careful way

    # -- the pass ------------------------------------------------------------------------

    def run(self, text: str) -> None:
        """Interpret the whole program."""
        if "\n" not in text and "\r" in text:
            text = text.replace("\r", "\n")  # classic Mac line ends
        lines = text.count("\n") + (0 if not text or text.endswith("\n") else 1)
        self.run_pieces(program_pieces(text), lines, _has_layer_marker(text))

    def run_file(self, program: ProgramFile) -> None:
        """Interpret a program file a piece at a time (memory bounded by the piece size,
        whatever the file's size); the same pass as `run` on the file's text."""
        self.run_pieces(program.pieces(), program.lines, program.has_layer_marker)

    def run_pieces(
        self, pieces: Iterable[tuple[list[str], int, bool]], lines: int, has_layer_marker: bool
    ) -> None:
        """Interpret a program given as `program_pieces` cuts it (lines, the first line's
        number, and whether the moves go to the planner after them), knowing beforehand
        its number of lines and whether it has a layer marker."""
        self.lines = lines
        if self.rules is not None and not has_layer_marker:
            # No start sequence to tell apart: every extrusion must be on the bed.
            self.extrusion_margin = 0.0
            self.extrusion_bounds = self.rules.bed
        for piece, first, ends_piece in pieces:
            self._run_lines(piece, first)
            del piece  # before the next one is cut
            if ends_piece:
                self.flush_moves()
            elif self.planner is not None and self.records:
                # Blocks now, planned where the text's pieces end: the same plan, and the
                # moves of a sub-piece in memory instead of a piece's.
                self.planner.build(self.records)
                self.records.clear()
        self.finish()

    def _run_lines(self, lines: list[str], first: int) -> None:
        layers = self.layers
        record = self.records.extend if self.planner is not None else None
        tx0, tx1, ty0, ty1, tz0, tz1 = self.travel
        bx0, by0, bx1, by1 = self.extrusion_bounds
        max_eo = self._max_extrude_only
        fwarn = self._feedrate_warning
        tags = comments.TAGS
        x, y, z, elog, efil, emax, feed, lz, le, prev_ext = self._take()
        ox, oy, oz, rel_e, flow, fscale, heat_ok, hot_ok = self._hot_params()
        line = first - 1
        for raw in lines:
            line += 1
            if not raw:
                continue
            if raw[0] == ";":
                if raw.startswith(tags):
                    self._put(x, y, z, elog, efil, emax, feed, lz, le, prev_ext)
                    comments.slicer_comment(self, raw)
                    lz, le = self.layer_z, self.layer_e
                    bx0, by0, bx1, by1 = self.extrusion_bounds
                continue
            words = raw.split()
            if not words:
                continue
            head = words[0]
            if (
                (head == "G1" or head == "G0")
                and hot_ok
                and "e" not in raw  # Python's float() reads "1e3" and "1_0"; firmware does not
                and "_" not in raw
                and raw.isascii()
            ):
                nx, ny, nz, nf = x, y, z, feed
                ev: float | None = None
                outside = False
                try:
                    for word in words[1:]:
                        c = word[0]
                        if c == "X":
                            nx = float(word[1:]) + ox
                            if not tx0 <= nx <= tx1:
                                outside = True
                        elif c == "Y":
                            ny = float(word[1:]) + oy
                            if not ty0 <= ny <= ty1:
                                outside = True
                        elif c == "E":
                            ev = float(word[1:])
                        elif c == "Z":
                            nz = float(word[1:]) + oz
                            if not tz0 <= nz <= tz1:
                                outside = True
                        elif c == "F":
                            nf = float(word[1:]) * fscale
                            if not 0.0 < nf <= fwarn:
                                raise _Unusual
                        elif c == ";":
                            break
                        else:
                            raise _Unusual
                    if outside and (nx - nx or ny - ny or nz - nz):
                        raise _Unusual  # NaN or infinite: the lexer calls it unreadable
                    # An "E" or "e" inside a number is an exponent, which firmware does not
                    # read: leave such lines to the lexer, which reads them as Marlin does.
                    if ev is None:
                        if "E" in raw:
                            raise _Unusual
                        de = 0.0
                    elif raw.count("E") != 1 or ev - ev:  # ev - ev: NaN or infinite
                        raise _Unusual
                    elif rel_e:
                        de = ev
                        elog += ev
                    else:
                        de = ev - elog
                        elog = ev
                except (ValueError, _Unusual):
                    pass
                else:
                    feed = nf
                    if outside:
                        bounds.report_outside(self, line, raw, head, nx, ny, nz)
                    if de == 0.0 and nx == x and ny == y and nz == z:
                        continue
                    df = de * flow
                    if de > 0.0:
                        if nx != x or ny != y:
                            if not heat_ok:
                                heat_ok = temperatures.report_not_ready(self, line, raw, head)
                            if not (bx0 <= nx <= bx1 and by0 <= ny <= by1) or (
                                not prev_ext and not (bx0 <= x <= bx1 and by0 <= y <= by1)
                            ):
                                bounds.report_extrusion_outside(self, line, raw, head, x, y, nx, ny)
                            if nz != lz:
                                if le:
                                    layers.add(lz, le)
                                lz = nz
                                le = 0.0
                            le += df
                            prev_ext = True
                        else:
                            prev_ext = False
                            if not heat_ok:
                                heat_ok = temperatures.report_not_ready(self, line, raw, head)
                            if de > max_eo:
                                bounds.report_extrude_only(self, line, raw, head, de)
                        efil += df
                        if efil > emax:
                            emax = efil
                    else:
                        prev_ext = False
                        if de < 0.0:
                            efil += df
                            if -de > max_eo and nx == x and ny == y:
                                bounds.report_extrude_only(self, line, raw, head, de)
                    if record is not None:
                        record((nx, ny, nz, efil, nf))
                    x, y, z = nx, ny, nz
                    continue
            elif head == "G92" and len(words) == 2 and words[1] == "E0":
                elog = 0.0
                continue
            self._put(x, y, z, elog, efil, emax, feed, lz, le, prev_ext)
            self.dispatch(raw, line)
            x, y, z, elog, efil, emax, feed, lz, le, prev_ext = self._take()
            ox, oy, oz, rel_e, flow, fscale, heat_ok, hot_ok = self._hot_params()
        self._put(x, y, z, elog, efil, emax, feed, lz, le, prev_ext)

    def _take(
        self,
    ) -> tuple[float, float, float, float, float, float, float, float, float, bool]:
        st = self.state
        return (
            st.x,
            st.y,
            st.z,
            st.e_logical,
            st.e_filament,
            st.e_filament_max,
            st.feed_mm_s,
            self.layer_z,
            self.layer_e,
            st.prev_extruding,
        )

    def _put(
        self,
        x: float,
        y: float,
        z: float,
        elog: float,
        efil: float,
        emax: float,
        feed: float,
        lz: float,
        le: float,
        prev_ext: bool,
    ) -> None:
        st = self.state
        st.x, st.y, st.z, st.e_logical, st.e_filament, st.e_filament_max = (
            x,
            y,
            z,
            elog,
            efil,
            emax,
        )
        st.feed_mm_s, self.layer_z, self.layer_e, st.prev_extruding = feed, lz, le, prev_ext

    def _hot_params(self) -> tuple[float, float, float, bool, float, float, bool, bool]:
        st = self.state
        rules = self.rules
        hot_ok = (
            self.fast_path
            and (st.homed or rules is None)
            and not st.g91
            and not st.inches
            and not (rules is not None and rules.round_bed)
        )
        return (
            st.offset_x,
            st.offset_y,
            st.offset_z,
            st.relative_e(self.dialect),
            st.flow_factor,
            st.speed_factor / 60.0,
            temperatures.ready(self),
            hot_ok,
        )

    # -- the careful path ----------------------------------------------------------------

    def dispatch(self, raw: str, line: int) -> None:
        """Lex one line and run its handler (with the command policy checked first)."""
        parsed = parse_line(raw)
        if parsed is None:
            return
        if isinstance(parsed, LexError):
            if self.rules is not None:
                word = parsed.text.split()[0] if parsed.text.split() else "?"
                self.report(
                    line,
                    word,
                    Code(parsed.code),
                    f"{short(parsed.text)!r} cannot be read: {parsed.reason}",
                )
            return
        if self.rules is not None and not policy.allowed(self, parsed, line):
            return
        handler = self.table.get(parsed.word)
        if handler is None and parsed.word[0] == "T" and parsed.word[1:].lstrip("-").isdigit():
            handler = self.table.get("T<n>")
        if handler is not None:
            handler(self, parsed, line)
        elif self.rules is not None:
            policy.unknown(self, parsed, line)

    def apply_move(
        self,
        nx: float,
        ny: float,
        nz: float,
        de: float,
        feed: float,
        line: int,
        text: str,
        word: str,
    ) -> None:
        """A straight move to machine (nx, ny, nz) moving E by `de` mm: the careful path's
        version of what `_run_lines` does inline (same checks, same statistics)."""
        st = self.state
        rules = self.rules
        if rules is not None:
            bounds.check_move(self, nx, ny, nz, line, text, word)
        if de == 0.0 and nx == st.x and ny == st.y and nz == st.z:
            return
        df = de * st.flow_factor
        if de > 0.0:
            if nx != st.x or ny != st.y:
                if not temperatures.ready(self):
                    temperatures.report_not_ready(self, line, text, word)
                if rules is not None and (
                    not rules.inside_bed(nx, ny, self.extrusion_margin)
                    or (
                        not st.prev_extruding
                        and not rules.inside_bed(st.x, st.y, self.extrusion_margin)
                    )
                ):
                    bounds.report_extrusion_outside(self, line, text, word, st.x, st.y, nx, ny)
                if nz != self.layer_z:
                    if self.layer_e:
                        self.layers.add(self.layer_z, self.layer_e)
                    self.layer_z, self.layer_e = nz, 0.0
                self.layer_e += df
                st.prev_extruding = True
            else:
                st.prev_extruding = False
                if not temperatures.ready(self):
                    temperatures.report_not_ready(self, line, text, word)
                if de > self._max_extrude_only:
                    bounds.report_extrude_only(self, line, text, word, de)
            st.e_filament += df
            if st.e_filament > st.e_filament_max:
                st.e_filament_max = st.e_filament
        else:
            st.prev_extruding = False
            if de < 0.0:
                st.e_filament += df
                if -de > self._max_extrude_only and nx == st.x and ny == st.y:
                    bounds.report_extrude_only(self, line, text, word, de)
        if self.planner is not None:
            self.records.extend((nx, ny, nz, st.e_filament, feed))
        st.x, st.y, st.z = nx, ny, nz

    # -- planner hooks -------------------------------------------------------------------

    def flush_moves(self) -> None:
        """Hand the recorded moves to the planner (the machine keeps moving)."""
        if self.planner is not None and self.records:
            self.planner.add(self.records)
            self.records.clear()

    def stop_motion(self) -> None:
        """The firmware waits for every move to finish (G4, M400, heating, homing)."""
        if self.planner is not None:
            self.flush_moves()
            self.planner.stop()

    def set_limits(self, limits: MotionLimits) -> None:
        if self.planner is not None:
            self.flush_moves()
            self.planner.limits = limits

    @property
    def limits(self) -> MotionLimits | None:
        return self.planner.limits if self.planner is not None else None

    def finish(self) -> None:
        if self.layer_e:
            self.layers.add(self.layer_z, self.layer_e)
            self.layer_e = 0.0
        self.stop_motion()

    # -- findings ------------------------------------------------------------------------

    def report(
        self, line: int, word: str, code: Code, reason: str, severity: Severity | None = None
    ) -> None:
        if self.rules is not None:
            self.log.add(line, word, code, reason, severity)

    def heaters_changed(self) -> None:
        """Targets or waits changed (see `temperatures.ready`)."""
        temperatures.heaters_changed(self)

    def add_object(self, name: str) -> None:
        if name and name not in self.objects:
            self.objects.append(name)

    def worse_once(self, key: str, value: float) -> bool:
        """Whether `value` beats every value reported under `key` so far (and remember it)."""
        return self.worse(key, False, value)

    def worse(self, key: str, low_side: bool, beyond: float, line: int = 0) -> bool:
        """Whether an excursion goes further than any reported on that side (remember it);
        a line reports each side once, however many arc chords go further."""
        side = (key, 0 if low_side else 1)
        if beyond > self._worst.get(side, 0.0) + 1e-6:
            self._worst[side] = beyond
            if line and self._worst_line.get(side) == line:
                return False
            self._worst_line[side] = line
            return True
        return False

    def clock(self) -> float:
        """Seconds into the job (moves planned so far, dwells and heating waits)."""
        seconds = self.dwell_seconds
        if self.planner is not None:
            seconds += self.planner.totals.seconds
        if self.heat_clock is not None:
            seconds += self.heat_clock.seconds
        return seconds


def _has_layer_marker(text: str) -> bool:
    return any(text.startswith(marker) or f"\n{marker}" in text for marker in LAYER_MARKERS)


def _widened(
    bed: tuple[float, float, float, float], margin: float
) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = bed
    return (x0 - margin, y0 - margin, x1 + margin, y1 + margin)

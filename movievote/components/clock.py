"""A clock in the browser: the time left until an instant ("1 d 4 h", "3 h 12 min", and
seconds in the last minutes) or gone since one ("5 s", "3 min"), ticking by itself with no
server round trip: once a second near the end (or for an age), once a minute otherwise.

The units (d, h, min, s) are the international abbreviations, the same in every language
we offer; the sentence around them comes from the catalogue (`template`, "{}" is the time).
"""

from __future__ import annotations

import reflex as rx
from reflex.vars.base import Var
from reflex_base.utils.imports import ImportDict, ImportVar

CLOCK_JS = r"""
function mvClockText(ms, counting) {
  const s = Math.floor(ms / 1000), m = Math.floor(s / 60), h = Math.floor(m / 60), d = Math.floor(h / 24);
  if (counting === "since") {
    if (s < 60) return `${s} s`;
    if (m < 60) return `${m} min`;
    if (h < 48) return `${h} h`;
    return `${d} d`;
  }
  if (d >= 1) return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
  if (h >= 1) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  if (m >= 5) return `${m} min`;
  if (m >= 1) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  return `${s} s`;
}

function MvClock({ at, counting = "until", template = "{}", ...rest }) {
  const target = Date.parse(at || "");
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (isNaN(target)) return undefined;
    let timer;
    const tick = () => {
      const current = Date.now();
      setNow(current);
      const left = target - current;
      const fine = counting === "since" || left < 10 * 60 * 1000;
      const step = fine ? 1000 - (current % 1000) : 60000 - (Math.abs(left) % 60000);
      timer = setTimeout(tick, step + 20);
    };
    tick();
    return () => clearTimeout(timer);
  }, [target, counting]);
  if (isNaN(target)) return null;
  const ms = Math.max(0, counting === "since" ? now - target : target - now);
  const text = template.replace("{}", mvClockText(ms, counting));
  return jsx("span", { ...rest, "data-ms": String(ms) }, text);
}
"""


class Clock(rx.Component):
    """`<MvClock at="2026-12-01T03:00:00Z" counting="until" template="closes in {}">`."""

    tag = "MvClock"

    at: Var[str]
    counting: Var[str]
    template: Var[str]

    def add_imports(self) -> ImportDict:
        # emotion's jsx, as Reflex's pages use: it applies the `css` prop style props become
        return {
            "react": [ImportVar(tag="useState"), ImportVar(tag="useEffect")],
            "@emotion/react": [ImportVar(tag="jsx")],
        }

    def add_custom_code(self) -> list[str]:
        return [CLOCK_JS]


def clock(
    at: Var[str] | str, *, template: Var[str] | str = "{}", counting: str = "until", **props: object
) -> rx.Component:
    """A ticking time until `at` (counting="until") or since it (counting="since")."""
    return Clock.create(at=at, template=template, counting=counting, **props)

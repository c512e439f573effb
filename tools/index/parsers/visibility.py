"""Whether markup hides an element's text from a reader: inline styles, the hidden attribute, colour on colour.

The HTML parser drops such elements (what a reader of the page does not see is not indexed, so it cannot reach the
model either), and the injection guard (agents/guard/guards.py) uses the same test on raw markup it meets elsewhere.
Only inline declarations are seen: a stylesheet that hides a class is beyond a parser that does not run CSS.
"""

from __future__ import annotations

import re

_ZERO = re.compile(r"-?(?:0+(?:\.0*)?|\.0+)(?:px|pt|em|rem|%|vh|vw)?")
_NAMED = {"white": "#ffffff", "black": "#000000", "#fff": "#ffffff", "#000": "#000000",
          "rgb(255,255,255)": "#ffffff", "rgb(0,0,0)": "#000000", "transparent": "transparent"}


def declarations(style: str) -> dict[str, str]:
    """``style`` as property -> value, lower case, ``!important`` dropped."""
    props: dict[str, str] = {}
    for declaration in style.split(";"):
        name, sep, value = declaration.partition(":")
        if sep:
            props[name.strip().lower()] = value.lower().replace("!important", "").strip()
    return props


def colour(value: str) -> str:
    """A colour in one spelling (#ffffff for white, whatever way it was written); '' for none."""
    value = value.strip().lower().replace(" ", "")
    if re.fullmatch(r"#[0-9a-f]{3}", value):
        value = "#" + "".join(ch * 2 for ch in value[1:])
    return _NAMED.get(value, value)


def background_of(props: dict[str, str], bgcolor: str = "") -> str:
    """The background colour an element declares (style or the old bgcolor attribute), or ''."""
    value = props.get("background-color") or props.get("background", "").split(" ")[0] or bgcolor
    return colour(value) if value else ""


def hidden_by(props: dict[str, str], *, hidden_attr: bool = False, text_colour: str = "",
              background: str = "") -> str | None:
    """Why an element is invisible (``display:none``, ``font-size:0``, ...), or None.

    ``props`` are its inline declarations; ``text_colour`` its colour (style or <font color>), ``background`` the
    nearest background declared on it or an ancestor. Text coloured exactly like that background counts as hidden.
    """
    if hidden_attr:
        return "the hidden attribute"
    if props.get("display") == "none":
        return "display:none"
    if props.get("visibility") in ("hidden", "collapse"):
        return "visibility:hidden"
    if "font-size" in props and _ZERO.fullmatch(props["font-size"]):
        return "font-size:0"
    if "opacity" in props and _ZERO.fullmatch(props["opacity"]):
        return "opacity:0"
    text_colour = colour(props.get("color", "") or text_colour)
    if text_colour and text_colour != "transparent" and text_colour == background:
        return "white-on-white text" if text_colour == "#ffffff" else "text coloured like its background"
    if text_colour == "transparent":
        return "transparent text"
    return None

"""Names of the jails configured in jail.conf(5) (pure). jls lists running jails only, so
this is how a configured jail that is not running is found."""

import re

# A jail block opens with its name and "{" (jail.conf(5)); "*" is the wildcard defaults block.
_BLOCK = re.compile(r"^\s*([A-Za-z0-9_][A-Za-z0-9_.-]*)\s*\{")


def configured_jails(text: str) -> tuple[str, ...]:
    names = []
    depth = 0
    for line in text.splitlines():
        stripped = line.split("#", 1)[0]
        match = _BLOCK.match(stripped) if depth == 0 else None
        if match:
            names.append(match.group(1))
        depth += stripped.count("{") - stripped.count("}")
        depth = max(depth, 0)
    return tuple(dict.fromkeys(names))

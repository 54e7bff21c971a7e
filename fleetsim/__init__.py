"""fleetsim: a simulated FreeBSD fleet served over real SSH, with fault injection.

Standalone: imports nothing from Django or the nyiops apps. See docs/fleetsim.md.
"""

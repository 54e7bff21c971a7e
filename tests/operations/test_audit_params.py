"""What the audit keeps of an operation's parameters: short values whole, long ones (a big pf
ruleset) as size and digest, so audit rows stay small."""

import hashlib

from operations.services import AUDIT_PARAM_CAP, _audit_params


def test_long_parameter_values_are_audited_as_size_and_digest():
    ruleset = "pass in quick on igb1 proto tcp\n" * 500
    audited = _audit_params({"ruleset": ruleset, "node": "fw1a"})
    assert len(ruleset) > AUDIT_PARAM_CAP
    assert audited == {
        "ruleset": f"<{len(ruleset)} characters, sha256 "
        f"{hashlib.sha256(ruleset.encode()).hexdigest()}>",
        "node": "fw1a",
    }

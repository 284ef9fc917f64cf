"""shop_actions.yaml: optional; the shop actions it lists need an approval; a bad entry is named by line."""

from __future__ import annotations

import pytest

from privacy_service.audit.actions import InvalidShopName, ShopAction
from privacy_service.policy import PolicyError, load_policies
from tests.unit.policy.samples import ENVIRON, PolicyDir


def test_without_the_file_no_shop_action_needs_an_approval(policy_dir: PolicyDir) -> None:
    assert load_policies(policy_dir(), environ=ENVIRON).shop_actions_requiring_approval == frozenset()


def test_the_listed_shop_actions_need_an_approval(policy_dir: PolicyDir) -> None:
    directory = policy_dir(
        shop_actions="require_approval:\n  - order.amount_change\n  - payout.account_change\n"
    )
    policies = load_policies(directory, environ=ENVIRON)
    assert policies.shop_actions_requiring_approval == {"order.amount_change", "payout.account_change"}


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("require_approval:\n  - order.x\n  - authn_login_success\n", 3, "require_approval[1]: must be"),
        ("require_approval:\n  - order.x\n  - order.x\n", 3, "require_approval[1]: order.x is already"),
        ("require_approval: [order.x]\nrequire_aproval: []\n", 2, "require_aproval: unknown key"),
        ("require_approval:\n  - 12\n", 2, "require_approval[0]: must be"),
    ],
)  # fmt: skip
def test_a_bad_entry_is_reported_with_its_file_and_line(
    policy_dir: PolicyDir, text: str, line: int, message: str
) -> None:
    with pytest.raises(PolicyError) as raised:
        load_policies(policy_dir(shop_actions=text), environ=ENVIRON)
    [problem] = raised.value.problems
    assert (problem.file.name, problem.line) == ("shop_actions.yaml", line)
    assert problem.message.startswith(message)


@pytest.mark.parametrize(
    "name", ["order.amount_change", "a.b", "order", "Order.x", "order.x-y", "a." + "b" * 98, "a." + "b" * 99]
)
def test_the_policy_and_the_trail_agree_on_what_a_shop_action_is(policy_dir: PolicyDir, name: str) -> None:
    try:
        ShopAction(name)
        valid = True
    except InvalidShopName:
        valid = False
    directory = policy_dir(shop_actions=f"require_approval: ['{name}']\n")
    if valid:
        assert load_policies(directory, environ=ENVIRON).shop_actions_requiring_approval == {name}
    else:
        with pytest.raises(PolicyError):
            load_policies(directory, environ=ENVIRON)

"""All-or-nothing changes to a fitted skorch net: what ``fit`` and ``forget`` run inside.

``all_or_nothing`` takes a snapshot of everything a call may change — every attribute,
deep copies of the mutable records, the module's and optimizer's state, each submodule's
train/eval mode — and puts it back if the call raises anything, Ctrl-C included.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from torch import nn


class Snapshot:
    """The state of a net, taken before a change, to restore if the change fails.

    Parameters
    ----------
    net : skorch.NeuralNet
        The net; read only.
    records : sequence of str
        Attributes changed in place (logs, caches, history): deep-copied, so in-place
        edits are undone too. Every other attribute is restored by reference.
    """

    def __init__(self, net: Any, records: Sequence[str]) -> None:
        state = net.__dict__
        self.attributes = dict(state)
        self.records = {name: _copy_record(state[name]) for name in records if name in state}
        self.torch_states = {}
        for name in ("module_", "optimizer_"):
            owner = state.get(name)
            if owner is not None and hasattr(owner, "state_dict"):
                self.torch_states[name] = (owner, copy.deepcopy(owner.state_dict()))
        module = state.get("module_")
        self.modes = {m: m.training for m in module.modules()} if isinstance(module, nn.Module) else {}

    def restore(self, net: Any) -> None:
        net.__dict__.clear()
        net.__dict__.update(self.attributes)
        for name, saved in self.records.items():
            net.__dict__[name] = saved.restore() if isinstance(saved, _ListTail) else saved
        for owner, state in self.torch_states.values():
            owner.load_state_dict(state)
        for module, training in self.modes.items():
            module.train(training)


@contextmanager
def all_or_nothing(net: Any, records: Sequence[str]) -> Iterator[Snapshot]:
    """Run the block; if it raises (``KeyboardInterrupt`` included), put ``net`` back and re-raise."""
    snapshot = Snapshot(net, records)
    try:
        yield snapshot
    except BaseException:
        snapshot.restore(net)
        raise


class _ListTail:
    """A growing list (skorch's ``History``) saved as a shallow copy plus a deep copy of its last item.

    Training appends epochs and edits only the last one (or replaces or clears the whole
    list when it starts afresh), so this restores it exactly at a fraction of a deep copy's
    cost for a long history.
    """

    def __init__(self, items: list) -> None:
        self.items, self.head = items, list(items[:-1])
        self.last = [copy.deepcopy(items[-1])] if items else []

    def restore(self) -> list:
        self.items[:] = self.head + self.last
        return self.items


def _copy_record(value: Any) -> Any:
    if isinstance(value, list) and type(value).__name__ == "History":
        return _ListTail(value)
    return copy.deepcopy(value)

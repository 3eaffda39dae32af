"""The checks of a flow's node graph, each problem at the path of the field to change: ids are
unique, every `next`/`goto` names a node, actions exist, no loop goes round without a
`wait` or `wait_for_event` — one event must not send a webhook hundreds of times a second —
and no way leads back to a `digest`, which collects the event that started the run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from nerve.flows import actions

if TYPE_CHECKING:
    from nerve.flows.definition import FlowDefinition, Node

END = "end"
NEXT = "next"
WAITS = ("wait", "wait_for_event")

Problem = dict[str, str]


def problems(flow: FlowDefinition) -> list[Problem]:
    found = [*_duplicate_ids(flow), *_unknown_targets(flow), *_unknown_actions(flow)]
    found = found or _digests_reached_again(flow)
    return found or _loops_without_wait(flow)  # loops are only traced in a well-formed graph


def _duplicate_ids(flow: FlowDefinition) -> Iterator[Problem]:
    first: dict[str, int] = {}
    for index, node in enumerate(flow.nodes):
        if node.id in first:
            yield {
                "path": f"nodes[{index}].id",
                "reason": f"{node.id!r} is already the id of nodes[{first[node.id]}]; "
                "ids must be unique",
            }
        first.setdefault(node.id, index)


def _targets(node: Node, index: int) -> Iterator[tuple[str, str]]:
    """(path, target) of every way on from a node."""
    yield f"nodes[{index}].next", node.next
    if node.wait_for_event is not None:
        yield f"nodes[{index}].wait_for_event.on_event", node.wait_for_event.on_event
        yield f"nodes[{index}].wait_for_event.on_timeout", node.wait_for_event.on_timeout
    for case, branch in enumerate(node.branch or []):
        yield f"nodes[{index}].branch[{case}].goto", branch.goto
    for number, path in enumerate(node.split or []):
        yield f"nodes[{index}].split[{number}].goto", path.goto


def _unknown_targets(flow: FlowDefinition) -> Iterator[Problem]:
    ids = [node.id for node in flow.nodes]
    for index, node in enumerate(flow.nodes):
        for path, target in _targets(node, index):
            if target not in (*ids, END, NEXT):
                yield {
                    "path": path,
                    "reason": f"there is no node {target!r}; use a node id, `next` or `end`",
                }


def _unknown_actions(flow: FlowDefinition) -> Iterator[Problem]:
    for index, node in enumerate(flow.nodes):
        if node.action is not None and not actions.known(node.action):
            yield {
                "path": f"nodes[{index}].action",
                "reason": f"unknown action {node.action!r}; "
                f"known actions: {', '.join(actions.names())}",
            }


def _ways(flow: FlowDefinition, node: Node) -> list[str]:
    """The ids of the nodes a run can go to from `node` (END left out)."""
    if node.branch is not None:
        ways = [case.goto for case in node.branch]
        if not any(case.otherwise for case in node.branch):
            ways.append(node.next)  # no case holds
    elif node.split is not None:
        ways = [path.goto for path in node.split]
    elif node.wait_for_event is not None:
        ways = [node.wait_for_event.on_event, node.wait_for_event.on_timeout]
    else:
        ways = [node.next]
    ahead = (flow.after(node.id, way) for way in ways)
    return list(dict.fromkeys(n for n in ahead if n != END))


def _instant_successors(flow: FlowDefinition) -> dict[str, list[str]]:
    """Where each node that takes no time (action, branch, split) leads without waiting; waits
    are left out, so a loop through one of them is no loop here."""
    instant = {node.id for node in flow.nodes if node.kind not in WAITS}
    return {
        node.id: [n for n in _ways(flow, node) if n in instant]
        for node in flow.nodes
        if node.id in instant
    }


def _digests_reached_again(flow: FlowDefinition) -> list[Problem]:
    """A digest adds the event that started the run: a run that came back to it would add the
    same event again, to the next window's digest, and send it a second time."""
    successors = {node.id: _ways(flow, node) for node in flow.nodes}
    found = []
    for index, node in enumerate(flow.nodes):
        if node.digest is None:
            continue
        cycle = _shortest_cycle(node.id, successors, set(successors))
        if len(cycle) > 2 or node.id in successors[node.id]:
            reason = (f"{' → '.join(cycle)} leads back to the digest; a run reaches a digest "
                      "once, with the event that started it")  # fmt: skip
            found.append({"path": f"nodes[{index}].digest", "reason": reason})
    return found


def _loops_without_wait(flow: FlowDefinition) -> list[Problem]:
    successors = _instant_successors(flow)
    index = {node.id: n for n, node in enumerate(flow.nodes)}
    found: list[tuple[int, Problem]] = []
    for component in _strongly_connected(successors):
        start = min(component, key=index.__getitem__)
        if len(component) == 1 and start not in successors[start]:
            continue  # a node on its own, not looping back to itself
        cycle = " → ".join(_shortest_cycle(start, successors, component))
        reason = f"{cycle} loops back without waiting; put a wait or wait_for_event on the way"
        found.append((index[start], {"path": f"nodes[{index[start]}]", "reason": reason}))
    return [problem for _, problem in sorted(found, key=lambda item: item[0])]


def _shortest_cycle(start: str, successors: dict[str, list[str]], within: set[str]) -> list[str]:
    """start → … → start, fewest nodes first (breadth first)."""
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        ahead = []
        for node in frontier:
            for following in successors[node]:
                if following == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [*reversed(path), start]
                if following in within and following not in came_from:
                    came_from[following] = node
                    ahead.append(following)
        frontier = ahead
    return [start, start]  # unreachable for a strongly connected component


def _strongly_connected(successors: dict[str, list[str]]) -> list[set[str]]:
    """Kosaraju's two passes, iteratively (a flow may have many nodes; no deep recursion)."""
    order: list[str] = []
    seen: set[str] = set()
    for root in successors:
        if root in seen:
            continue
        seen.add(root)
        stack = [(root, iter(successors[root]))]
        while stack:
            node, ahead = stack[-1]
            following = next(ahead, None)
            if following is None:
                stack.pop()
                order.append(node)
            elif following not in seen:
                seen.add(following)
                stack.append((following, iter(successors[following])))
    predecessors: dict[str, list[str]] = {node: [] for node in successors}
    for node, ways in successors.items():
        for following in ways:
            predecessors[following].append(node)
    components, assigned = [], set()
    for root in reversed(order):
        if root in assigned:
            continue
        component, reaching = set(), [root]
        assigned.add(root)
        while reaching:
            node = reaching.pop()
            component.add(node)
            for previous in predecessors[node]:
                if previous not in assigned:
                    assigned.add(previous)
                    reaching.append(previous)
        components.append(component)
    return components

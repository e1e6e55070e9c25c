"""A template's resources as CloudFormation orders them: a dependency for every reference anywhere in
a resource (`Ref`, `Fn::GetAtt`, the names in an `Fn::Sub` string, `DependsOn`; in `Properties`,
`UpdatePolicy`, `CreationPolicy` and the rest), and the cycles among them, which CloudFormation
refuses as "Circular dependency between resources". Parameters, pseudo parameters and conditions
are not resources and are not counted; `Metadata` is not resolved by CloudFormation either."""

import re

SUB_NAME = re.compile(r"\$\{([^}!][^}]*)\}")


def references(value):
    """The logical names `value` refers to."""
    if isinstance(value, list):
        return {name for item in value for name in references(item)}
    if not isinstance(value, dict):
        return set()
    if len(value) == 1:
        (fn, arg), = value.items()
        if fn == "Ref" and isinstance(arg, str):
            return {arg}
        if fn == "Fn::GetAtt":
            return {(arg if isinstance(arg, list) else arg.split(".", 1))[0]}
        if fn == "Fn::Sub":
            text, variables = (arg, {}) if isinstance(arg, str) else arg
            named = {m.split(".", 1)[0] for m in SUB_NAME.findall(text)} - set(variables)
            return named | references(variables)
    return {name for item in value.values() for name in references(item)}


def dependencies(resources):
    """Each resource's dependencies on other resources of the template."""
    graph = {}
    for name, resource in resources.items():
        refs = references({k: v for k, v in resource.items() if k not in ("Metadata", "DependsOn", "Type")})
        depends = resource.get("DependsOn", [])
        refs |= set([depends] if isinstance(depends, str) else depends)
        graph[name] = {r for r in refs if r in resources and r != name}
    return graph


def cycles(resources):
    """Every set of resources that depend on each other in a cycle (Tarjan's strongly connected
    components of more than one resource, or one that names itself), each sorted, largest first."""
    graph = dependencies(resources)
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    import sys
    sys.setrecursionlimit(max(10000, 4 * len(graph)))
    for node in graph:
        if node not in index:
            visit(node)
    return sorted(found, key=len, reverse=True)

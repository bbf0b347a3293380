"""No module of the site imports itself back through others: the trail from a view to the worker only goes down."""

import grimp

PACKAGES = ("accounts", "catalog", "detection", "recommendations", "insights", "emomusic_site", "devserver", "ml")


def import_cycles() -> list[list[str]]:
    graph = grimp.build_graph(*PACKAGES)
    modules = sorted(graph.modules)
    index = {module: position for position, module in enumerate(modules)}
    # Tarjan's strongly connected components: any component of two or more modules is a cycle.
    lowlink, order, on_stack, stack, cycles = {}, {}, set(), [], []

    def visit(module: str) -> None:
        order[module] = lowlink[module] = len(order)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                continue
            if imported not in order:
                visit(imported)
                lowlink[module] = min(lowlink[module], lowlink[imported])
            elif imported in on_stack:
                lowlink[module] = min(lowlink[module], order[imported])
        if lowlink[module] == order[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in modules:
        if module not in order:
            visit(module)
    return cycles


def test_no_module_imports_itself_back():
    assert import_cycles() == []

"""dropstream-sync: Amazon store connections in DropStream, managed as code.

Layers (checked by tests/test_layering.py):

    catalog, errors            data and the exception tree; import nothing of ours
    desired, live              models of the wanted and the live state
    config/                    YAML -> desired state (load, validate, schema)
    planner/                   pure: plan(desired, live, now) -> Plan
    render/                    Plan -> text | markdown | json
    client/                    the only HTTP code; returns live models
    apply, importer            effects: Plan -> API writes; live -> YAML
    cli/                       thin click layer: options, wiring, exit codes
    sandbox/                   the DropStream emulator; imports nothing of the tool
"""

__version__ = "0.1.0"

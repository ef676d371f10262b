"""``labels-as-indices``: class labels leave the graph; each output a ``label_lookup`` computes
becomes the class index it looked up, and the label table goes into the module's attributes.

For runtimes without string tensors (TensorFlow Lite Micro): the firmware reads an int index and
maps it through the table the metadata (and the C header) carries. A lookup of a lookup (a
composition re-labelling its member's classes) is one table: the outer read through the inner.
``label_tables`` holds one ``[output, [labels...]]`` pair per rewritten output; for a model of
several outputs the table is every output's labels in one list and each column's index is already
shifted into it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from sklir.ir.core import Module
from sklir.ir.dialects.tensor import LabelLookup
from sklir.passes.dce import DeadValueElimination
from sklir.passes.manager import Pass, PassResult, register_pass

# the module attribute the tables are recorded in
LABEL_TABLES = "label_tables"


@register_pass
@dataclass(frozen=True)
class LabelsAsIndices(Pass):
    """Replace every module output computed by a ``label_lookup`` with that lookup's index operand.

    ``%label = label_lookup(%i) {classes = str[2] ["no", "yes"]}; return label = %label`` becomes
    ``return label = %i`` with ``label_tables = [["label", ["no", "yes"]]]``.
    """

    name: ClassVar[str] = "labels-as-indices"

    def run(self, module: Module) -> PassResult:
        producers = module.producers()
        recorded = dict(module.attributes.get(LABEL_TABLES, ()))
        outputs = dict(module.outputs)
        changed = False
        for name, value in module.outputs.items():
            # label = outer[inner[i]]: walking in from the output, each lookup's table is read
            # through by the tables outside it (and one a previous run recorded)
            table = np.asarray(recorded[name], dtype=object) if name in recorded else None
            node = producers.get(value)
            while node is not None and isinstance(node.op, LabelLookup):
                classes = node.op.classes.array
                table = classes if table is None else table[classes.astype(np.int64)]
                value = node.operands[0]
                node = producers.get(value)
            if value is not outputs[name]:
                outputs[name] = value
                recorded[name] = tuple(np.asarray(table).tolist())
                changed = True
        if not changed:
            return PassResult(module, False)
        attributes = {**module.attributes, LABEL_TABLES: tuple(recorded.items())}
        rewritten = Module(module.name, list(module.inputs), list(module.nodes), outputs, attributes)
        return PassResult(DeadValueElimination().run(rewritten).module, True)

cwlVersion: v1.2
class: Workflow
doc: Two independent steps of two cores each, and a four-core step after them.
inputs: []
outputs: []
steps:
  left: {run: nap.cwl, in: {}, out: []}
  right: {run: nap.cwl, in: {}, out: []}
  big: {run: cores4.cwl, in: {}, out: []}

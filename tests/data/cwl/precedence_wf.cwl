cwlVersion: v1.2
class: Workflow
doc: The workflow asks 1 core; the tool's own requirement (4 cores) is the more specific.
requirements:
  ResourceRequirement: {coresMin: 1}
inputs: []
outputs: []
steps:
  heavy:
    run: cores4.cwl
    in: []
    out: []

cwlVersion: v1.2
class: Workflow
inputs: []
outputs: []
steps:
  say:
    run: bad_yaml.cwl
    in: {}
    out: []

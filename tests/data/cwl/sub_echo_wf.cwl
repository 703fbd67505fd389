cwlVersion: v1.2
class: Workflow
doc: A workflow whose one step is a subworkflow (echo, then join with itself).
requirements:
  SubworkflowFeatureRequirement: {}
  MultipleInputFeatureRequirement: {}
  StepInputExpressionRequirement: {}
inputs:
  word: {type: string, default: neuron}
outputs:
  joined: {type: File, outputSource: twice/joined}
  said: {type: string, outputSource: twice/said}
steps:
  twice:
    run: sub/inner.cwl
    in:
      word: {source: word, valueFrom: "$(self)-x"}
    out: [joined, said]

cwlVersion: v1.2
class: Workflow
doc: |
  The fault tests' study: `prep` writes x to a file at once; `score` reads it and prints
  `score: x`, after sleeping 300 s when x >= slow_from (a step running when the test kills saber).
$namespaces:
  saber: https://saber.dev/cwl#
inputs:
  x: float
  slow_from: {type: float, default: 100.0}
outputs: []
steps:
  prep:
    run:
      class: CommandLineTool
      requirements: {DockerRequirement: {dockerPull: saber/blobs:0.1.0}}
      baseCommand: [python3, -c, "import sys; open('x.txt', 'w').write(sys.argv[1])"]
      inputs: {x: {type: float, inputBinding: {position: 1}}}
      outputs: {out: {type: File, outputBinding: {glob: x.txt}}}
    in: {x: x}
    out: [out]
  score:
    run: slow_score.cwl
    in: {x_file: prep/out, slow_from: slow_from}
    out: []

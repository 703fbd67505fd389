cwlVersion: v1.2
class: CommandLineTool
doc: |
  A scored tool for the study tests: prints `score: 1 - (x - 0.6)^2` (optimum at x = 0.6), or
  fails with exit code 1 when x > fail_above.
$namespaces:
  saber: https://saber.dev/cwl#
requirements:
  DockerRequirement: {dockerPull: saber/blobs:0.1.0}
hints:
  saber: {score_format: "score: {score}"}
baseCommand: [python3, -c]
arguments:
  - valueFrom: |
      import sys
      x, limit = float(sys.argv[1]), float(sys.argv[2])
      print("starting")
      if x > limit:
          sys.exit("x above fail_above")
      print(f"score: {1 - (x - 0.6) ** 2:.6f}")
    position: 0
inputs:
  x:
    type: float
    doc: The parameter being tuned.
    inputBinding: {position: 1}
  fail_above:
    type: float
    default: 2.0
    doc: Fail for x above this.
    inputBinding: {position: 2}
outputs: []

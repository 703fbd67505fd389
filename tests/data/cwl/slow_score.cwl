cwlVersion: v1.2
class: CommandLineTool
doc: |
  A scored tool for the fault tests: prints `score: x` (x read from x_file) at once, or first
  sleeps 300 s when x >= slow_from (a step that is running when the test kills saber).
$namespaces:
  saber: https://saber.dev/cwl#
requirements:
  DockerRequirement: {dockerPull: saber/blobs:0.1.0}
hints:
  saber: {score_format: "score: {score}"}
baseCommand: [python3, -c]
arguments:
  - valueFrom: |
      import sys, time  # saber-fault-test
      x, slow_from = float(open(sys.argv[1]).read()), float(sys.argv[2])
      if x >= slow_from:
          time.sleep(300)
      print(f"score: {x}")
    position: 0
inputs:
  x_file: {type: File, inputBinding: {position: 1}}
  slow_from: {type: float, default: 100.0, inputBinding: {position: 2}}
outputs: []

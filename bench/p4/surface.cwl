cwlVersion: v1.2
class: CommandLineTool
doc: |
  P4's test surface (surface.py, inlined into the working directory): prints
  "score: <value>" for a point (x, y) of [0, 1]^2; the optimum is near (0.62, 0.31).
$namespaces:
  saber: https://saber.dev/cwl#
requirements:
  DockerRequirement: {dockerPull: "saber/blobs:0.1.0"}
  InitialWorkDirRequirement:
    listing:
      - entryname: surface.py
        entry:
          $include: surface.py
hints:
  saber: {score_format: "score: {score}"}
baseCommand: [python3, surface.py]
inputs:
  x: {type: float, inputBinding: {position: 1}}
  y: {type: float, inputBinding: {position: 2}}
outputs: []

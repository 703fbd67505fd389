cwlVersion: v1.2
class: Workflow
doc: Resource and saber hints in every form _plan.py reads.
$namespaces:
  saber: https://saber.dev/cwl#
  cwltool: http://commonwl.org/cwltool#
requirements:
  ResourceRequirement: {ramMin: 512}
inputs:
  message: string
outputs: []
steps:
  plain:
    run: cat.cwl
    in: {files: {default: []}}
    out: [joined]
  big:
    run: cat.cwl
    in: {files: {default: []}}
    out: [joined]
    requirements:
      ResourceRequirement: {coresMin: 2.5, ramMin: 3000}
  gpu:
    run: cat.cwl
    in: {files: {default: []}}
    out: [joined]
    hints:
      cwltool:CUDARequirement:
        cudaVersionMin: "11.4"
        cudaComputeCapability: "7.0"
        cudaDeviceCountMin: 2
  listform:
    run: cat.cwl
    in: {files: {default: []}}
    out: [joined]
    hints:
      - class: saber:Hints
        score_format: "F1: {score}"
  mapform:
    run: cat.cwl
    in: {files: {default: []}}
    out: [joined]
    hints:
      saber:Hints: {score_format: "map {score}", queue: gpu}
  bare:
    run: cat.cwl
    in: {files: {default: []}}
    out: [joined]
    hints:
      saber: {score_format: "bare {score}"}
  keyform:
    run: cat.cwl
    in: {files: {default: []}}
    out: [joined]
    hints:
      ResourceRequirement: {coresMin: 1, saber:score_format: "key {score}"}

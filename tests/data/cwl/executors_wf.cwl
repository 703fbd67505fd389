cwlVersion: v1.2
class: Workflow
doc: A CPU step and a GPU step, sized for Kubernetes and AWS Batch by `saber dag --executor`.
$namespaces:
  cwltool: http://commonwl.org/cwltool#
inputs: []
outputs: []
steps:
  cpu:
    run: cat.cwl
    in: {files: {default: []}}
    out: [joined]
    requirements:
      ResourceRequirement: {coresMin: 2, ramMin: 1024}
  gpu:
    run: cat.cwl
    in: {files: {default: []}}
    out: [joined]
    requirements:
      ResourceRequirement: {coresMin: 0.5, ramMin: 3000.5}
    hints:
      cwltool:CUDARequirement: {cudaVersionMin: "11.4", cudaComputeCapability: "7.0", cudaDeviceCountMin: 2}

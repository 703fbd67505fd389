cwlVersion: v1.2
class: CommandLineTool
doc: Asks for one GPU (cwltool passes --gpus=1 to Docker).
$namespaces: {cwltool: "http://commonwl.org/cwltool#"}
requirements:
  DockerRequirement: {dockerPull: "saber/blobs:0.1.0"}
  cwltool:CUDARequirement: {cudaVersionMin: "11.0", cudaComputeCapability: "3.0", cudaDeviceCountMin: 1}
baseCommand: [sleep, "1"]
inputs: []
outputs: []

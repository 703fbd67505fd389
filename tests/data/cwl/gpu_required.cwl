cwlVersion: v1.2
class: CommandLineTool
$namespaces: {cwltool: "http://commonwl.org/cwltool#"}
requirements:
  DockerRequirement: {dockerPull: "saber/blobs:0.1.0"}
  cwltool:CUDARequirement: {cudaVersionMin: "11.4", cudaComputeCapability: "3.0", cudaDeviceCountMin: 2}
doc: Needs two GPUs (CUDARequirement under requirements, as cwltool --enable-ext allows).
baseCommand: nvidia-smi
inputs: []
outputs: []

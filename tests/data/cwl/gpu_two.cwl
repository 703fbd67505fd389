cwlVersion: v1.2
class: CommandLineTool
doc: Holds two GPUs for `nap` seconds.
$namespaces: {cwltool: "http://commonwl.org/cwltool#"}
requirements:
  DockerRequirement: {dockerPull: "saber/blobs:0.1.0"}
  cwltool:CUDARequirement: {cudaVersionMin: "11.0", cudaComputeCapability: "3.0", cudaDeviceCountMin: 2}
baseCommand: [python3, -c, "import sys, time; time.sleep(float(sys.argv[1]))"]
inputs:
  nap: {type: float, default: 0, inputBinding: {position: 1}}
outputs: []

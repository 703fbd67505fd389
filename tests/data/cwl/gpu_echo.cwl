cwlVersion: v1.2
class: CommandLineTool
doc: Holds one GPU for `nap` seconds, then says `message` and `item`; its output is a string, not a file.
$namespaces: {cwltool: "http://commonwl.org/cwltool#"}
requirements:
  DockerRequirement: {dockerPull: "saber/blobs:0.1.0"}
  InlineJavascriptRequirement: {}
  cwltool:CUDARequirement: {cudaVersionMin: "11.0", cudaComputeCapability: "3.0", cudaDeviceCountMin: 1}
baseCommand: [python3, -c, "import sys, time; time.sleep(float(sys.argv[3])); print(sys.argv[1], sys.argv[2])"]
inputs:
  message: {type: string, inputBinding: {position: 1}}
  item: {type: int, inputBinding: {position: 2}}
  nap: {type: float, default: 0, inputBinding: {position: 3}}
stdout: said.txt
outputs:
  text:
    type: string
    outputBinding:
      glob: said.txt
      loadContents: true
      outputEval: $(self[0].contents.trim())

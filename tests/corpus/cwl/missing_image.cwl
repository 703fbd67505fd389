cwlVersion: v1.2
class: CommandLineTool
doc: Prints its inputs; every input type a sweep or a job file can get wrong.
$namespaces:
  cwltool: http://commonwl.org/cwltool#
requirements:
  DockerRequirement: {dockerPull: "saber/blobs:9.9.9"}
hints:
  cwltool:Secrets: {secrets: [token]}
baseCommand: echo
inputs:
  n: {type: int, default: 1, inputBinding: {position: 1}}
  x: {type: float, default: 0.5, inputBinding: {position: 2}}
  name: {type: string, default: a, inputBinding: {position: 3}}
  mode: {type: {type: enum, symbols: [fast, slow]}, default: fast, inputBinding: {position: 4}}
  flag: {type: boolean, default: false, inputBinding: {position: 5, prefix: --flag}}
  infile: {type: File?, inputBinding: {position: 6}}
  indir: {type: Directory?, inputBinding: {position: 7}}
  token: {type: string?}
stdout: out.txt
outputs:
  out: {type: stdout}

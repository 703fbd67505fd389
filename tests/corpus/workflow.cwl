cwlVersion: v1.2
class: Workflow
doc: The valid workflow the corpus's bad sweeps and bad job files are checked against.
$namespaces:
  cwltool: http://commonwl.org/cwltool#
requirements:
  ScatterFeatureRequirement: {}
hints:
  cwltool:Secrets: {secrets: [token]}
inputs:
  n: {type: int, default: 1}
  x: {type: float, default: 0.5}
  name: {type: string, default: a}
  mode: {type: {type: enum, symbols: [fast, slow]}, default: fast}
  flag: {type: boolean, default: false}
  items: {type: "int[]", default: [1, 2]}
  infile: {type: File?}
  indir: {type: Directory?}
  token: {type: string?}
outputs:
  outs: {type: "File[]", outputSource: emit/out}
  last: {type: File, outputSource: show/out}
steps:
  emit:
    run: tool.cwl
    scatter: n
    in: {n: items, x: x, name: name, mode: mode, flag: flag}
    out: [out]
  show:
    run: tool.cwl
    in: {n: n, x: x, infile: infile, indir: indir, token: token}
    out: [out]

cwlVersion: v1.2
class: Workflow
doc: Two independent one-GPU steps.
$namespaces: {cwltool: "http://commonwl.org/cwltool#"}
inputs: []
outputs: []
steps:
  first: {run: gpu_one.cwl, in: {}, out: []}
  second: {run: gpu_one.cwl, in: {}, out: []}

cwlVersion: v1.2
class: Workflow
$namespaces:
  cwltool: http://commonwl.org/cwltool#
hints:
  cwltool:Secrets: {secrets: [pin]}
inputs:
  pin: int
outputs: []
steps:
  emit:
    run: ../tool.cwl
    in: {n: pin}
    out: [out]

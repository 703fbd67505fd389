cwlVersion: v1.2
class: Workflow
doc: A scatter of steps that each need two cores (ResourceRequirement.coresMin) for `nap` seconds.
requirements:
  ScatterFeatureRequirement: {}
  InlineJavascriptRequirement: {}
inputs:
  items: {type: "int[]", default: [1, 2]}
  nap: {type: float, default: 0}
outputs:
  said: {type: "string[]", outputSource: busy/text}
steps:
  busy:
    run:
      class: CommandLineTool
      requirements:
        DockerRequirement: {dockerPull: "saber/blobs:0.1.0"}
        ResourceRequirement: {coresMin: 2}
      baseCommand: [python3, -c, "import sys, time; time.sleep(float(sys.argv[2])); print(sys.argv[1])"]
      inputs:
        item: {type: int, inputBinding: {position: 1}}
        nap: {type: float, inputBinding: {position: 2}}
      stdout: said.txt
      outputs:
        text:
          type: string
          outputBinding: {glob: said.txt, loadContents: true, outputEval: "$(self[0].contents.trim())"}
    scatter: item
    in: {item: items, nap: nap}
    out: [text]

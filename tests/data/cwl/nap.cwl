cwlVersion: v1.2
class: CommandLineTool
doc: Sleeps two seconds, asking for two cores.
requirements:
  DockerRequirement: {dockerPull: "saber/blobs:0.1.0"}
  ResourceRequirement: {coresMin: 2}
baseCommand: [sleep, "2"]
inputs: []
outputs: []

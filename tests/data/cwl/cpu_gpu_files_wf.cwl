cwlVersion: v1.2
class: Workflow
doc: |
  Files passed between a CPU step (default queue) and a GPU-queue step, and back: on workers
  that share no folder they travel through the run's S3 storage.
$namespaces: {saber: "https://saber.dev/cwl#"}
inputs:
  notes: {type: File}
outputs:
  final: {type: File, outputSource: finish/out}
steps:
  start:
    run:
      class: CommandLineTool
      requirements: {DockerRequirement: {dockerPull: saber/blobs:0.1.0}}
      baseCommand: [python3, -c, "import sys; open('a.txt', 'w').write(open(sys.argv[1]).read().upper())"]
      inputs: {notes: {type: File, inputBinding: {position: 1}}}
      outputs: {out: {type: File, outputBinding: {glob: a.txt}}}
    in: {notes: notes}
    out: [out]
  middle:
    run:
      class: CommandLineTool
      requirements: {DockerRequirement: {dockerPull: saber/blobs:0.1.0}}
      hints: {saber: {queue: gpu}}
      baseCommand: [python3, -c, "import sys; open('b.txt', 'w').write(open(sys.argv[1]).read() + ' via gpu')"]
      inputs: {text: {type: File, inputBinding: {position: 1}}}
      outputs: {out: {type: File, outputBinding: {glob: b.txt}}}
    in: {text: start/out}
    out: [out]
  finish:
    run:
      class: CommandLineTool
      requirements: {DockerRequirement: {dockerPull: saber/blobs:0.1.0}}
      baseCommand: [python3, -c, "import sys; open('c.txt', 'w').write(open(sys.argv[1]).read() + ' and back')"]
      inputs: {text: {type: File, inputBinding: {position: 1}}}
      outputs: {out: {type: File, outputBinding: {glob: c.txt}}}
    in: {text: middle/out}
    out: [out]

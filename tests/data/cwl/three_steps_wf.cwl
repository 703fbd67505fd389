cwlVersion: v1.2
class: Workflow
doc: |
  Three steps in a line; a sweep over `factor` varies only the last one (the step cache's test
  and bench P12: the first two run once whatever the number of points).
inputs:
  seed: {type: int, default: 7}
  factor: {type: int, default: 1}
outputs:
  result: {type: File, outputSource: last/out}
steps:
  first:
    run:
      class: CommandLineTool
      requirements: {DockerRequirement: {dockerPull: saber/blobs:0.1.0}}
      baseCommand: [python3, -c, "import sys, time; time.sleep(1); open('a.txt', 'w').write(sys.argv[1])"]
      inputs: {seed: {type: int, inputBinding: {position: 1}}}
      outputs: {out: {type: File, outputBinding: {glob: a.txt}}}
    in: {seed: seed}
    out: [out]
  second:
    run:
      class: CommandLineTool
      requirements: {DockerRequirement: {dockerPull: saber/blobs:0.1.0}}
      baseCommand: [python3, -c, "import sys, time; time.sleep(1); open('b.txt', 'w').write(open(sys.argv[1]).read() * 2)"]
      inputs: {text: {type: File, inputBinding: {position: 1}}}
      outputs: {out: {type: File, outputBinding: {glob: b.txt}}}
    in: {text: first/out}
    out: [out]
  last:
    run:
      class: CommandLineTool
      requirements: {DockerRequirement: {dockerPull: saber/blobs:0.1.0}}
      baseCommand: [python3, -c, "import sys; open('c.txt', 'w').write(open(sys.argv[1]).read() + 'x' * int(sys.argv[2]))"]
      inputs:
        text: {type: File, inputBinding: {position: 1}}
        factor: {type: int, inputBinding: {position: 2}}
      outputs: {out: {type: File, outputBinding: {glob: c.txt}}}
    in: {text: second/out, factor: factor}
    out: [out]

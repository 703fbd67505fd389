cwlVersion: v1.2
class: Workflow
doc: "Bench P10: three steps passing a 64 MiB file along (made, copied with a suffix, summarised)."
inputs:
  mib: {type: int, default: 64}
outputs:
  summary: {type: File, outputSource: summarise/out}
steps:
  make:
    run:
      class: CommandLineTool
      requirements: {DockerRequirement: {dockerPull: saber/blobs:0.1.0}}
      baseCommand: [python3, -c, "import os, sys; open('big.bin', 'wb').write(os.urandom(int(sys.argv[1]) << 20))"]
      inputs: {mib: {type: int, inputBinding: {position: 1}}}
      outputs: {out: {type: File, outputBinding: {glob: big.bin}}}
    in: {mib: mib}
    out: [out]
  copy:
    run:
      class: CommandLineTool
      requirements: {DockerRequirement: {dockerPull: saber/blobs:0.1.0}}
      baseCommand: [python3, -c, "import sys; open('copy.bin', 'wb').write(open(sys.argv[1], 'rb').read() + b'!')"]
      inputs: {big: {type: File, inputBinding: {position: 1}}}
      outputs: {out: {type: File, outputBinding: {glob: copy.bin}}}
    in: {big: make/out}
    out: [out]
  summarise:
    run:
      class: CommandLineTool
      requirements: {DockerRequirement: {dockerPull: saber/blobs:0.1.0}}
      baseCommand: [python3, -c, "import hashlib, sys; d = open(sys.argv[1], 'rb').read(); open('sum.txt', 'w').write(f'{len(d)} {hashlib.sha256(d).hexdigest()}')"]
      inputs: {big: {type: File, inputBinding: {position: 1}}}
      outputs: {out: {type: File, outputBinding: {glob: sum.txt}}}
    in: {big: copy/out}
    out: [out]

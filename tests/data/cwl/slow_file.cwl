cwlVersion: v1.2
class: CommandLineTool
doc: |
  Writes 16 random bytes (hex) to made.txt, then sleeps `nap` seconds: each try's output differs,
  so a test can tell which try's file was published.
requirements:
  DockerRequirement: {dockerPull: "saber/blobs:0.1.0"}
baseCommand: [python3, -c, "import os, sys, time; open('made.txt', 'w').write(os.urandom(16).hex()); time.sleep(float(sys.argv[1]))"]
inputs:
  nap: {type: float, inputBinding: {position: 1}}
outputs:
  made: {type: File, outputBinding: {glob: made.txt}}

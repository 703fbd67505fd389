cwlVersion: v1.2
class: Workflow
doc: |
  The fault tests' writer and reader: `write` spends a few seconds writing a large file (the
  test kills its container meanwhile); `check` reads it and fails unless it is whole.
inputs:
  megabytes: {type: int, default: 64}
outputs:
  report: {type: File, outputSource: check/report}
steps:
  write:
    run:
      class: CommandLineTool
      requirements: {DockerRequirement: {dockerPull: saber/blobs:0.1.0}}
      baseCommand: [python3, -c]
      arguments:
        - valueFrom: |
            import sys, time  # saber-fault-writer
            n = int(sys.argv[1])
            with open("big.bin", "wb") as f:
                for i in range(n):
                    f.write(bytes([i % 256]) * (1 << 20))
                    f.flush()
                    time.sleep(4.0 / n)
                f.write(b"END")
          position: 0
      inputs: {megabytes: {type: int, inputBinding: {position: 1}}}
      outputs: {big: {type: File, outputBinding: {glob: big.bin}}}
    in: {megabytes: megabytes}
    out: [big]
  check:
    run:
      class: CommandLineTool
      requirements: {DockerRequirement: {dockerPull: saber/blobs:0.1.0}}
      baseCommand: [python3, -c]
      arguments:
        - valueFrom: |
            import os, sys
            path, n = sys.argv[1], int(sys.argv[2])
            size = os.path.getsize(path)
            with open(path, "rb") as f:
                f.seek(-3, 2)
                tail = f.read()
            if size != n * (1 << 20) + 3 or tail != b"END":
                sys.exit(f"half-written input: {size} bytes, ends {tail!r}")
            open("report.txt", "w").write(f"whole: {size} bytes\n")
          position: 0
      inputs:
        big: {type: File, inputBinding: {position: 1}}
        megabytes: {type: int, inputBinding: {position: 2}}
      outputs: {report: {type: File, outputBinding: {glob: report.txt}}}
    in: {big: write/big, megabytes: megabytes}
    out: [report]

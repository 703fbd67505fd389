cwlVersion: v1.2
class: CommandLineTool
doc: |
  Proves a secret reached the container through its environment: prints the length and
  SHA-256 of $API_TOKEN (never the value), and its own command line.
$namespaces:
  cwltool: http://commonwl.org/cwltool#
requirements:
  DockerRequirement: {dockerPull: "saber/blobs:0.1.0"}
  EnvVarRequirement:
    envDef: {API_TOKEN: $(inputs.token)}
  NetworkAccess: {networkAccess: true}
hints:
  cwltool:Secrets: {secrets: [token]}
inputs:
  token: {type: string, doc: the secret}
  label: {type: string, default: x, inputBinding: {position: 1}, doc: a plain argument}
baseCommand:
  - python3
  - -c
  - |
    import hashlib, json, os, sys
    t = os.environ.get("API_TOKEN", "")
    print(json.dumps({"len": len(t), "sha256": hashlib.sha256(t.encode()).hexdigest(),
                      "argv": sys.argv[1:], "net": sorted(os.listdir("/sys/class/net"))}))
stdout: seen.json
outputs:
  seen: {type: File, outputBinding: {glob: seen.json}, doc: what the tool saw}

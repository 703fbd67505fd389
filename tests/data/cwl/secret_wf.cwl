cwlVersion: v1.2
class: Workflow
doc: A workflow whose `api_key` input feeds a tool's secret input (so it is secret too).
inputs:
  api_key: {type: string, doc: "a secret, by way of the tool's Secrets"}
  label: {type: string, default: y, doc: a plain input}
outputs:
  seen: {type: File, outputSource: use/seen}
steps:
  use:
    run: secret_env.cwl
    in: {token: api_key, label: label}
    out: [seen]

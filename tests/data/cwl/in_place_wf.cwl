cwlVersion: v1.1
class: Workflow
doc: |
  A Directory made by one step, updated in place by the next (InplaceUpdateRequirement): a new
  file added and an existing one appended to. The last step lists the Directory as both steps
  gave it; both must be the one updated Directory, and the first step's cached outputs must
  not change.
requirements: {InlineJavascriptRequirement: {}}
inputs:
  word: {type: string, default: hello}
outputs:
  made: {type: 'File[]', outputSource: list/made}
  updated: {type: 'File[]', outputSource: list/updated}
steps:
  make:
    run:
      class: CommandLineTool
      requirements: {DockerRequirement: {dockerPull: saber/blobs:0.1.0}}
      baseCommand: [python3, -c, "import os, sys; os.mkdir('d'); open('d/a.txt', 'w').write(sys.argv[1])"]
      inputs: {word: {type: string, inputBinding: {position: 1}}}
      outputs: {out: {type: Directory, outputBinding: {glob: d}}}
    in: {word: word}
    out: [out]
  update:
    run:
      class: CommandLineTool
      requirements:
        DockerRequirement: {dockerPull: saber/blobs:0.1.0}
        InitialWorkDirRequirement: {listing: [{entry: $(inputs.dir), entryname: d, writable: true}]}
        InplaceUpdateRequirement: {inplaceUpdate: true}
      baseCommand: [python3, -c, "open('d/a.txt', 'a').write('!'); open('d/b.txt', 'w').write('new')"]
      inputs: {dir: Directory}
      outputs: {out: {type: Directory, outputBinding: {glob: d}}}
    in: {dir: make/out}
    out: [out]
  list:
    run:
      class: ExpressionTool
      inputs:
        made: {type: Directory, loadListing: shallow_listing}
        updated: {type: Directory, loadListing: shallow_listing}
      outputs: {made: 'File[]', updated: 'File[]'}
      expression: '$({made: inputs.made.listing, updated: inputs.updated.listing})'
    in: {made: make/out, updated: update/out}
    out: [made, updated]

cwlVersion: v1.2
inputs: []
outputs: []

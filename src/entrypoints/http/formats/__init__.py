"""Client wire formats: one module per format, each with one `ClientFormat` spec, registered in
`entrypoints/http/app.py`. The gateway's routes, error rendering and model listing are built
from the specs, so a new client format is one module here plus its registration."""

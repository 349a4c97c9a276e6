# The trustly-sidecar image: a static binary, CA certificates for HTTPS to Trustly,
# nothing else, run as an unprivileged user. `make image` builds it (needs a Docker
# daemon); `make image-scratch` builds the same final image from a binary built on
# the host (Dockerfile.scratch).
ARG GO_VERSION=1.26

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# Modules first: this layer is rebuilt only when go.mod or go.sum change. The
# adapter SDK is a module of its own that go.mod replaces with ./adapter, so
# its go.mod is needed to resolve the graph.
COPY go.mod go.sum ./
COPY adapter/go.mod adapter/go.sum ./adapter/
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/trustly-sidecar ./sidecar

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/trustly-sidecar /trustly-sidecar
# 65532 is "nonroot" in distroless images; the chart runs the pod with the same ids.
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["/trustly-sidecar"]
CMD ["serve"]

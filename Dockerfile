# syntax=docker/dockerfile:1
# The one tongxin image the Helm chart runs (`tongxin serve <service>`, `tongxin migrate`, and
# `tongxin guard` in the gateway pod).
# Not built by CI (no Docker engine there); build it with:
#   docker build -t <registry>/tongxin/tongxin:$(cargo pkgid -p tongxin | cut -d'#' -f2) .
# The binary links only glibc (rustls, vendored protoc at build time), so the runtime is
# distroless "cc" as the nonroot user 65532, the uid the chart's securityContext names.

# Pin the toolchain the workspace is tested with; bump together with CI.
FROM rust:1.95-bookworm AS build
# npm: the guard's build script bundles GraphiQL from the npm registry (the offline explorer).
RUN apt-get update -q && apt-get install -y -q --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p tongxin \
 && install -D -m 0755 target/release/tongxin /out/tongxin

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/tongxin /usr/local/bin/tongxin
USER 65532:65532
# HTTP (GraphQL, /healthz, /readyz, /metrics) and gRPC of the first service; each service
# has its own pair (8081-8084 / 9081-9084), set in its tongxin.toml.
EXPOSE 8081 9081
ENTRYPOINT ["/usr/local/bin/tongxin"]
CMD ["--help"]

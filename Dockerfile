# certstream node: a static binary on a distroless base, running as an
# unprivileged user, its state and archive under one volume (/data).
#
#   docker build --build-arg VERSION=$(git describe --tags --always) --build-arg COMMIT=$(git rev-parse HEAD) -t certstream .
#   docker run -p 8080:8080 -v certstream-data:/data certstream
#
# Configure with CERTSTREAM_<SECTION>_<FIELD> variables, or mount a file
# and pass --config (e.g. -v ./certstream.toml:/etc/certstream.toml:ro and
# command: ["serve", "--config", "/etc/certstream.toml"]).

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=""
ARG COMMIT=""
# The exact build cmd/certstream's TestStaticBuildAsInTheDockerfile checks.
RUN scripts/build-static.sh /out/certstream "$VERSION" "$COMMIT" && mkdir -p /out/data

# distroless/static: CA certificates and tzdata, no shell; user nonroot (65532).
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/certstream /usr/local/bin/certstream
COPY --from=build --chown=65532:65532 /out/data /data
ENV CERTSTREAM_SERVER_HOST=0.0.0.0 \
    CERTSTREAM_CT_LOG_STATE_FILE=/data/certstream-state.json \
    CERTSTREAM_DELTA_SINK_TABLE_PATH=/data/delta
USER 65532:65532
WORKDIR /data
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/certstream"]
CMD ["serve"]

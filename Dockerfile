# groupsync as a container image: a static binary (CGO_ENABLED=0; the SQLite
# driver is pure Go) on distroless/static, run as the non-root user 65532.
#
#   docker build -t groupsync .
#   docker run --rm -v "$PWD:/work" -w /work groupsync validate -f groups/
#
# The state file defaults to /data/groupsync.db: mount a volume there (or
# pass --state) so that it outlives the container.

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# -buildvcs=auto stamps the commit and dirty flag when .git is in the build
# context (see .dockerignore); --version reads them from the build info.
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=auto -ldflags=-s -o /out/groupsync ./cmd/groupsync \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/groupsync /groupsync
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV GROUPSYNC_STATE=/data/groupsync.db
VOLUME /data
ENTRYPOINT ["/groupsync"]
CMD ["--help"]

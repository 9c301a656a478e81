//! The std sinks write exactly what the fixed-buffer renderer writes.
use std::io;

use corral_core::encode::{self, EncodeError, Renderer, SliceSink};
use corral_core::{Counter, Desc, DynamicFamily, Registry, RegistryConfig};
use corral_std::encode::{VecSink, write_chunked};

fn registry() -> &'static Registry<4> {
    let registry: &'static Registry<4> = Box::leak(Box::new(Registry::with_config(
        RegistryConfig::DEFAULT.with_self_metrics(false),
    )));
    let family: &'static DynamicFamily<Counter, 1, 64> =
        Box::leak(Box::new(DynamicFamily::new(["path"])));
    registry
        .register(Desc::new("hits_total", "Hits by path"), family)
        .unwrap();
    for i in 0..40 {
        family.with_labels([&format!("/path/{i}")]).inc_by(i);
    }
    registry
}

fn fixed(registry: &Registry<4>, renderer: Renderer) -> Vec<u8> {
    let mut buf = vec![0u8; 1 << 16];
    let mut sink = SliceSink::new(&mut buf);
    let mut renderer = renderer;
    renderer.render(registry, &mut sink).unwrap();
    sink.as_bytes().to_vec()
}

#[test]
fn vec_sink_matches_the_fixed_buffer() {
    let r = registry();
    for renderer in [Renderer::prometheus(), Renderer::openmetrics()] {
        let mut body = b"kept".to_vec();
        let mut renderer2 = renderer;
        renderer2.render(r, &mut VecSink::new(&mut body)).unwrap();
        assert_eq!(&body[..4], b"kept");
        assert_eq!(body[4..], fixed(r, renderer));
    }
}

#[test]
fn vec_sink_limit_is_a_bound() {
    let r = registry();
    let mut body = Vec::new();
    let err = encode::prometheus(r, &mut VecSink::with_limit(&mut body, 300)).unwrap_err();
    assert_eq!(
        err,
        EncodeError::BufferFull {
            written: body.len()
        }
    );
    assert!(body.len() <= 300 && body.ends_with(b"\n"));
}

#[test]
fn write_chunked_matches_the_fixed_buffer_at_every_chunk_size() {
    let r = registry();
    let expected = fixed(r, Renderer::openmetrics());
    for size in [64, 65, 100, 777, 1 << 16] {
        let mut out = Vec::new();
        let mut scratch = vec![0u8; size];
        let n = write_chunked(r, Renderer::openmetrics(), &mut out, &mut scratch).unwrap();
        assert_eq!(n, out.len());
        assert_eq!(out, expected, "chunk size {size}");
    }
    let mut scratch = [0u8; 20];
    let err = write_chunked(r, Renderer::prometheus(), &mut Vec::new(), &mut scratch).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("`hits_total`"), "{err}");
}

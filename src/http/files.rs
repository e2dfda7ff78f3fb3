//! Files in and out: the file of an import request (a multipart upload or the whole body), and
//! an export file as a download.

use axum::http::{header, HeaderValue};
use axum::response::Response;

use crate::bookmarks::transfer::{Export, ExportBody, Format};
use crate::error::{Error, Result};
use crate::http::error::upload_error;
use crate::state::AppState;

/// The file of an import request: a multipart upload's `file` field, or the whole body.
pub async fn import_source(state: &AppState, req: axum::extract::Request) -> Result<(Format, String)> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ct.starts_with("multipart/form-data") {
        use axum::extract::FromRequest;
        let mut mp = axum::extract::Multipart::from_request(req, state)
            .await
            .map_err(|e| Error::bad_request(format!("Invalid upload: {}", e.body_text())))?;
        while let Some(field) = mp.next_field().await.map_err(upload_error)? {
            if field.name() == Some("file") {
                let name = field.file_name().map(str::to_string);
                let fct = field.content_type().map(str::to_string);
                let bytes = field.bytes().await.map_err(upload_error)?;
                let data = String::from_utf8_lossy(&bytes).into_owned();
                return Ok((Format::sniff(name.as_deref(), fct.as_deref(), &data), data));
            }
        }
        return Err(Error::invalid("file", "Upload the file in the field `file`"));
    }
    let format = Format::of_content_type(&ct).ok_or_else(|| {
        Error::unsupported_media(
            "Send JSON, text/html (a browser bookmark file), text/csv, or a multipart upload",
        )
    })?;
    let bytes = crate::http::error::read_body(req, state.config.max_import_bytes).await?;
    Ok((format, String::from_utf8_lossy(&bytes).into_owned()))
}

/// An export file as a download.
pub fn download(export: Export) -> Response {
    let body = match export.body {
        ExportBody::Whole(s) => axum::body::Body::from(s),
        ExportBody::Stream(stream) => axum::body::Body::from_stream(stream),
    };
    let mut res = Response::new(body);
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(export.content_type),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", export.file_name)) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

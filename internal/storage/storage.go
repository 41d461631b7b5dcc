/*
Copyright 2026 The Fivesafes Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strings"

	"github.com/minio/madmin-go/v3"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Errors callers can test for with errors.Is.
var (
	// ErrNotFound is a bucket, object, user or policy that does not exist. It matches
	// fs.ErrNotExist too.
	ErrNotFound = fmt.Errorf("storage: %w", fs.ErrNotExist)
	// ErrExists is an object that already exists where a create-only write was asked for. It
	// matches fs.ErrExist too.
	ErrExists = fmt.Errorf("storage: %w", fs.ErrExist)
	// ErrRetained is an object version that object-lock retention or a legal hold protects, so
	// it cannot be deleted yet.
	ErrRetained = errors.New("storage: object version is under object-lock retention or legal hold")
	// ErrBucketMismatch is an existing bucket without a property asked for that cannot be added
	// after creation (object lock).
	ErrBucketMismatch = errors.New("storage: existing bucket lacks a required property")
	// ErrChanged is a source object that no longer matches the version or ETag a copy was
	// pinned to.
	ErrChanged = errors.New("storage: source object changed")
	// ErrUnconfined is a user whose access could be wider than its one policy, because it
	// belongs to groups.
	ErrUnconfined = errors.New("storage: user is not confined to one policy")
	// ErrInvalid is an argument refused before any request is made: a malformed bucket, object,
	// user or policy name, or a bad option.
	ErrInvalid = errors.New("storage: invalid argument")
)

// Options address and authenticate the object store.
type Options struct {
	// Endpoint is the S3 API's host:port, without a scheme.
	Endpoint string
	// AccessKey and SecretKey are an administrator's credentials: they must be allowed to
	// create buckets, users and policies.
	AccessKey, SecretKey string
	// Secure uses HTTPS.
	Secure bool
	// Region is the store's region; empty asks the store (MinIO answers us-east-1).
	Region string
	// Transport carries every request, e.g. to trust a private CA; nil uses the default.
	Transport http.RoundTripper
	// PublicEndpoint, when set, is the host:port presigned URLs name, for a store that people
	// reach at another address than the manager does; PublicSecure says whether it is HTTPS.
	// Presigning makes no request to it, so Region must be right (empty means us-east-1,
	// MinIO's default).
	PublicEndpoint string
	// PublicSecure uses HTTPS in presigned URLs naming PublicEndpoint.
	PublicSecure bool
}

// Client administers the object store. It is safe for concurrent use.
type Client struct {
	s3      *minio.Client
	admin   *madmin.AdminClient
	presign *minio.Client
	o       Options
}

// New returns a Client for the store o addresses. It makes no request.
func New(o Options) (*Client, error) {
	if o.Endpoint == "" || strings.Contains(o.Endpoint, "://") {
		return nil, fmt.Errorf("%w: endpoint must be host:port without a scheme", ErrInvalid)
	}
	if o.AccessKey == "" || o.SecretKey == "" {
		return nil, fmt.Errorf("%w: administrator credentials are empty", ErrInvalid)
	}
	s3, err := newS3(o, o.AccessKey, o.SecretKey)
	if err != nil {
		return nil, err
	}
	admin, err := madmin.NewWithOptions(o.Endpoint, &madmin.Options{
		Creds:     credentials.NewStaticV4(o.AccessKey, o.SecretKey, ""),
		Secure:    o.Secure,
		Transport: o.Transport,
	})
	if err != nil {
		return nil, fmt.Errorf("creating object store admin client for %s: %w", o.Endpoint, err)
	}
	presign := s3
	if o.PublicEndpoint != "" {
		if strings.Contains(o.PublicEndpoint, "://") {
			return nil, fmt.Errorf("%w: public endpoint must be host:port without a scheme", ErrInvalid)
		}
		p := o
		p.Endpoint, p.Secure = o.PublicEndpoint, o.PublicSecure
		if p.Region == "" {
			p.Region = "us-east-1"
		}
		if presign, err = newS3(p, o.AccessKey, o.SecretKey); err != nil {
			return nil, err
		}
	}
	return &Client{s3: s3, admin: admin, presign: presign, o: o}, nil
}

// requestAttempts is how many times the Client, and the S3 client it hands out, try each S3
// request. Their callers are control loops (workspace buckets, output snapshots and checks,
// releases, audit log appends), which try again on their own, with backoff, after saying why they
// could not go on: with the store down, a request fails after two tries, where minio-go's default
// of ten held a loop for three to five seconds per request before its status could say the store
// was unavailable. (Bulk copies use their own clients.)
const requestAttempts = 2

// newS3 returns an S3 client for the store o addresses with the given credentials.
func newS3(o Options, accessKey, secretKey string) (*minio.Client, error) {
	c, err := minio.New(o.Endpoint, &minio.Options{
		Creds:      credentials.NewStaticV4(accessKey, secretKey, ""),
		Secure:     o.Secure,
		Region:     o.Region,
		Transport:  o.Transport,
		MaxRetries: requestAttempts,
	})
	if err != nil {
		return nil, fmt.Errorf("creating object store client for %s: %w", o.Endpoint, err)
	}
	return c, nil
}

// S3 returns the administrator's S3 client, for reads and writes this package does not wrap
// (the audit log's, release manifests). It tries each request requestAttempts times.
func (c *Client) S3() *minio.Client { return c.s3 }

// Endpoint returns the store's host:port.
func (c *Client) Endpoint() string { return c.o.Endpoint }

// s3Code returns the S3 error code of err, or "" when err is not an S3 error answer.
func s3Code(err error) string {
	var er minio.ErrorResponse
	if errors.As(err, &er) {
		return er.Code
	}
	return ""
}

// adminCode returns the admin API error code of err, or "" when err is not an admin answer.
func adminCode(err error) string {
	var er madmin.ErrorResponse
	if errors.As(err, &er) {
		return er.Code
	}
	return ""
}

// IsAccessDenied reports whether err is the store refusing a request for lack of permission.
func IsAccessDenied(err error) bool {
	return s3Code(err) == minio.AccessDenied || adminCode(err) == minio.AccessDenied
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
